package registry

import (
	"errors"
	"strings"
)

// RedactURL is a source's URL as it may be shown: the password of its
// userinfo masked, and for http and https a user name given alone too,
// since that is how access tokens are often written
// (https://TOKEN@host/...). It reads the URL by hand rather than with
// net/url, so that a URL that does not parse, whose text the error about it
// would quote, is masked as well.
func RedactURL(raw string) string {
	shown, _ := splitSecret(raw)
	return shown
}

// URLSecret is the part of raw that RedactURL masks, "" when none.
func URLSecret(raw string) string {
	_, secret := splitSecret(raw)
	return secret
}

func splitSecret(raw string) (shown, secret string) {
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		scheme, rest = "", raw
	}
	// The authority ends at the first /, ? or #; a user or password may
	// hold an @ of its own, so the userinfo ends at the authority's last.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw, ""
	}
	userinfo := rest[:at]
	user, pass, hasPass := strings.Cut(userinfo, ":")
	lower := strings.ToLower(scheme)
	switch {
	case hasPass && pass != "":
		secret, userinfo = pass, user+":xxxxx"
	case !hasPass && hasScheme && (lower == "http" || lower == "https") && user != "":
		secret, userinfo = user, "xxxxx"
	default:
		return raw, ""
	}
	prefix := ""
	if hasScheme {
		prefix = scheme + "://"
	}
	return prefix + userinfo + rest[at:], secret
}

// RedactError masks the secret of raw (see RedactURL) wherever err's text
// quotes it, as parsers' errors do. An error with nothing to mask is
// returned as it is, still unwrappable.
func RedactError(err error, raw string) error {
	secret := URLSecret(raw)
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), raw, RedactURL(raw))
	return errors.New(strings.ReplaceAll(msg, secret, "xxxxx"))
}
