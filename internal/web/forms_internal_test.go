package web

import "testing"

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"url is required":                        "The URL is required.",
		`url scheme "ftp" is not allowed`:        `The URL scheme "ftp" is not allowed.`,
		`name "a b" contains a space`:            `The name "a b" contains a space.`,
		`tag "-x" must start with a letter`:      `The tag "-x" must start with a letter.`,
		"owner is 300 bytes long":                "The owner is 300 bytes long.",
		"description is 3000 bytes long":         "The description is 3000 bytes long.",
		"owner: needs a name, as in owner:me":    "Owner: needs a name, as in owner:me.",
		"go/docs is owned by group:sre":          "go/docs is owned by group:sre.",
		"sign in to change links":                "Sign in to change links.",
		"There is no page /-/x; see /-/.":        "There is no page /-/x; see /-/.",
		"you are not a member of sre (a, b)":     "You are not a member of sre (a, b).",
		"élan is French":                         "Élan is French.",
		"  padded  ":                             "Padded.",
		"":                                       "",
		"urls are fine":                          "Urls are fine.",
		"a search is at most 200 bytes; got 201": "A search is at most 200 bytes; got 201.",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
