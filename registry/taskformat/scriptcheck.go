package taskformat

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// scriptValue judges from the parsed program, without running it, whether
// main.js can give the runner a function: a global main, or a script
// whose value is a function. It returns the place of the trouble and
// false only when the answer is surely no; a script whose value cannot be
// known without running it (a call, a conditional, a loop) is accepted.
func scriptValue(prog *ast.Program) (file.Idx, bool) {
	for _, st := range prog.Body {
		if declaresMain(st) {
			return 0, true
		}
	}
	for i := len(prog.Body) - 1; i >= 0; i-- {
		switch st := prog.Body[i].(type) {
		case *ast.EmptyStatement, *ast.VariableStatement, *ast.LexicalDeclaration,
			*ast.FunctionDeclaration, *ast.ClassDeclaration, *ast.DebuggerStatement:
			// These leave the script's value as it was before them.
			continue
		case *ast.ExpressionStatement:
			switch st.Expression.(type) {
			case *ast.NumberLiteral, *ast.StringLiteral, *ast.BooleanLiteral, *ast.NullLiteral,
				*ast.ObjectLiteral, *ast.ArrayLiteral, *ast.TemplateLiteral, *ast.RegExpLiteral:
				return st.Idx0(), false
			}
			return 0, true
		default:
			return 0, true
		}
	}
	if len(prog.Body) > 0 {
		return prog.Body[len(prog.Body)-1].Idx0(), false
	}
	return 1, false
}

// declaresMain reports a top-level function, class or variable named main.
func declaresMain(st ast.Statement) bool {
	isMain := func(b *ast.Binding) bool {
		id, ok := b.Target.(*ast.Identifier)
		return ok && id.Name == "main"
	}
	switch st := st.(type) {
	case *ast.FunctionDeclaration:
		return st.Function.Name != nil && st.Function.Name.Name == "main"
	case *ast.ClassDeclaration:
		return st.Class.Name != nil && st.Class.Name.Name == "main"
	case *ast.VariableStatement:
		for _, b := range st.List {
			if isMain(b) {
				return true
			}
		}
	case *ast.LexicalDeclaration:
		for _, b := range st.List {
			if isMain(b) {
				return true
			}
		}
	}
	return false
}
