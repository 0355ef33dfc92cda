package links

import (
	"strings"
)

// The ownership rules, in one place: UI, API and import all ask these.
//
// With ownership enforced (AUTH_MODE=proxy or oidc):
//   - reading needs nothing, unless RequireLogin; a token needs links:read;
//   - writing needs a user; a token needs links:write;
//   - a link may be changed or deleted by its owner: the person, or every
//     member of the owning group ("group:sre"); an unowned link by anyone
//     (who then claims it); any link by an admin;
//   - a new owner may be the user or one of the user's groups; a link's
//     owners may also hand it to anybody; an admin may give any link to
//     anybody;
//   - a token acts as its owner, within its scopes: an admin's token needs
//     the admin scope to use admin powers.

// MayRead reports whether p may read links and follow them.
func (s *Service) MayRead(p Principal) error {
	if !p.Has(ScopeRead) {
		return Errorf(Forbidden, "this token lacks the %s scope", ScopeRead)
	}
	if s.RequireLogin && p.Anonymous() {
		return Errorf(Unauthorized, "sign in to see links (REQUIRE_LOGIN is on)")
	}
	return nil
}

// mayWrite reports whether p may write at all.
func (s *Service) mayWrite(p Principal) error {
	if s.Enforce && p.Anonymous() {
		return Errorf(Unauthorized, "sign in to change links")
	}
	if !p.Has(ScopeWrite) {
		return Errorf(Forbidden, "this token lacks the %s scope", ScopeWrite)
	}
	return nil
}

// MayEdit reports whether p may change or delete l; when not, the error
// says why ("go/x is owned by group:sre; ...").
func (s *Service) MayEdit(p Principal, l Link) error {
	if err := s.mayWrite(p); err != nil {
		return err
	}
	if !s.Enforce || l.Owner == "" || p.Owns(l.Owner) || p.IsAdmin() {
		return nil
	}
	msg := "go/" + l.Name + " is owned by " + l.Owner + "; only " + whoMay(l.Owner) + " or an admin may change it"
	if p.Admin {
		msg += " (this token lacks the admin scope)"
	}
	return &Error{Code: Forbidden, Message: msg}
}

// mayGive reports whether p may make owner the owner of l (cur is the
// link as stored; its Owner is "" for a new link).
func (s *Service) mayGive(p Principal, cur Link, owner string) error {
	if !s.Enforce || owner == "" || p.Owns(owner) || p.IsAdmin() {
		return nil
	}
	if cur.Owner != "" && p.Owns(cur.Owner) {
		return nil // its owners may hand it to anybody
	}
	if strings.HasPrefix(owner, GroupPrefix) {
		return Errorf(Forbidden, "you are not a member of %s: give go/%s to yourself or one of your own groups (%s)", owner, cur.Name, strings.Join(p.Owners(), ", "))
	}
	if cur.Owner == "" && cur.Key != "" {
		return Errorf(Forbidden, "go/%s has no owner: you may claim it (owner %s) or leave it unowned, not give it to %s", cur.Name, p.User, owner)
	}
	return Errorf(Forbidden, "you may not give go/%s to %s: give it to yourself or one of your groups (%s)", cur.Name, owner, strings.Join(p.Owners(), ", "))
}

// whoMay names who may change a link owned by owner.
func whoMay(owner string) string {
	if strings.HasPrefix(owner, GroupPrefix) {
		return "members of " + owner
	}
	return owner
}

// ParseOwnerQuery takes the terms "owner:NAME" out of a search query.
// "owner:me" is p's user and each of p's groups.
func ParseOwnerQuery(q string, p Principal) (rest string, owners []string, err error) {
	if !strings.Contains(q, "owner:") {
		return q, nil, nil
	}
	var words []string
	for _, w := range strings.Fields(q) {
		name, ok := strings.CutPrefix(w, "owner:")
		switch {
		case !ok:
			words = append(words, w)
		case name == "":
			return "", nil, Errorf(Invalid, "owner: needs a name, as in owner:me or owner:ana@example.com")
		case name == "me":
			if p.Anonymous() {
				return "", nil, Errorf(Unauthorized, "sign in to search for owner:me")
			}
			owners = append(owners, p.Owners()...)
		default:
			owners = append(owners, name)
		}
	}
	return strings.Join(words, " "), owners, nil
}
