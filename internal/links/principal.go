package links

import (
	"slices"
	"strings"
)

// Scope is what an API token may do.
type Scope string

const (
	ScopeRead  Scope = "links:read"  // read links (and follow them under REQUIRE_LOGIN)
	ScopeWrite Scope = "links:write" // create, change and delete links (implies links:read)
	ScopeAdmin Scope = "admin"       // the owner's admin powers, and managing tokens
)

// Scopes lists every scope, in the order the UI shows them.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeAdmin}

// GroupPrefix marks an owner that is a group: "group:sre".
const GroupPrefix = "group:"

// Principal is who makes a request, resolved once by auth: a person (from a
// session or a trusted proxy) or an API token acting as its owner.
type Principal struct {
	// User is the person's identity (an e-mail address); "" is anonymous.
	User string
	// Groups are the groups the user belongs to, without GroupPrefix.
	Groups []string
	// Admin: the user is in ADMINS or one of ADMIN_GROUPS.
	Admin bool
	// TokenID is the API token the request came with, if any; Scopes then
	// limit what it may do.
	TokenID string
	Scopes  []Scope
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return p.User == "" }

// Has reports whether p may act within scope: a person always may, a token
// only with that scope (links:write implies links:read).
func (p Principal) Has(scope Scope) bool {
	if p.TokenID == "" {
		return true
	}
	if slices.Contains(p.Scopes, scope) {
		return true
	}
	return scope == ScopeRead && slices.Contains(p.Scopes, ScopeWrite)
}

// IsAdmin reports whether p may use admin powers: an admin, and, through a
// token, one with the admin scope.
func (p Principal) IsAdmin() bool { return p.Admin && p.Has(ScopeAdmin) }

// InGroup reports whether the user belongs to group (without the prefix).
func (p Principal) InGroup(group string) bool { return slices.Contains(p.Groups, group) }

// Owns reports whether owner names p's user or one of p's groups.
func (p Principal) Owns(owner string) bool {
	if owner == "" || p.User == "" {
		return false
	}
	if g, ok := strings.CutPrefix(owner, GroupPrefix); ok {
		return p.InGroup(g)
	}
	return owner == p.User
}

// Owners are the owners p may give a link to without being an admin:
// itself and its groups. The edit form offers them.
func (p Principal) Owners() []string {
	if p.User == "" {
		return nil
	}
	out := []string{p.User}
	for _, g := range p.Groups {
		out = append(out, GroupPrefix+g)
	}
	return out
}

// ValidateOwner checks an owner: "" (nobody), a person, or "group:NAME";
// at most MaxOwnerLen bytes, nothing that shows as something else.
func ValidateOwner(owner string) error {
	if err := validateText("owner", owner, MaxOwnerLen); err != nil {
		return err
	}
	if owner == GroupPrefix || strings.TrimSpace(strings.TrimPrefix(owner, GroupPrefix)) != strings.TrimPrefix(owner, GroupPrefix) {
		return Errorf(Invalid, "owner %q: a group owner is group:NAME, with no space around the name", owner)
	}
	return nil
}
