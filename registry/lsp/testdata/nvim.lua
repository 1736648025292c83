-- Neovim's own LSP client (0.7 and later) opens a task, edits it without
-- saving, and writes the diagnostics it received to $RR_OUT.
local bin, folder, out = os.getenv("RR_BIN"), os.getenv("RR_FOLDER"), os.getenv("RR_OUT")
local function finish(lines)
  vim.fn.writefile(lines, out)
  vim.cmd("qa!")
end
local id = vim.lsp.start_client({
  name = "ratchet-registry",
  cmd = { bin, "lsp", "--debounce", "30ms" },
  root_dir = folder,
  workspace_folders = { { uri = vim.uri_from_fname(folder), name = "tasks" } },
})
if not id then
  finish({ "error: the client did not start" })
end
vim.cmd("edit " .. vim.fn.fnameescape(folder .. "/add/metadata.json"))
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, id)
if not vim.wait(20000, function()
  local c = vim.lsp.get_client_by_id(id)
  return c ~= nil and c.initialized
end, 20) then
  finish({ "error: the server did not initialize" })
end
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
for i, l in ipairs(lines) do
  lines[i] = l:gsub('"label"', '"lable"')
end
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
vim.wait(20000, function()
  return #vim.diagnostic.get(buf) > 0
end, 20)
local res = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
  table.insert(res, string.format("%d:%d-%d:%d %s %s %s", d.lnum, d.col, d.end_lnum, d.end_col, d.source, tostring(code), d.message))
end
table.insert(res, "modified=" .. tostring(vim.bo[buf].modified))
finish(res)
