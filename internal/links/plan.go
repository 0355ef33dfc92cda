package links

import (
	"context"
	"time"
)

// ImportPlan is what importing some links would change, without changing it.
type ImportPlan struct {
	New     []Link
	Updated []PlannedUpdate
	// Unchanged counts the links whose recorded fields stay as they are;
	// Refreshed how many of those would still get other clicks or times
	// (an import writes those as the file has them, without a new version).
	Unchanged, Refreshed int
}

// PlannedUpdate is a stored link an import would change: the link as the
// file has it, and the recorded fields that differ.
type PlannedUpdate struct {
	Link   Link
	Fields []string
}

// PlanImport compares ls (as ReadNDJSON returns them) with what s holds,
// reading the store once, in order.
func PlanImport(ctx context.Context, s Store, ls []Link) (ImportPlan, error) {
	byKey := make(map[string]int, len(ls))
	for i, l := range ls {
		byKey[l.Key] = i
	}
	found := make([]bool, len(ls))
	var p ImportPlan
	err := s.Each(ctx, func(old Link) error {
		i, ok := byKey[old.Key]
		if !ok {
			return nil
		}
		found[i] = true
		l := ls[i]
		if fields := changedFields(old, l); len(fields) > 0 {
			p.Updated = append(p.Updated, PlannedUpdate{Link: l, Fields: fields})
			return nil
		}
		p.Unchanged++
		if !SameCounts(old, l) {
			p.Refreshed++
		}
		return nil
	})
	if err != nil {
		return ImportPlan{}, err
	}
	for i, l := range ls {
		if !found[i] {
			p.New = append(p.New, l)
		}
	}
	return p, nil
}

func changedFields(a, b Link) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", a.Name == b.Name}, {"url", a.URL == b.URL}, {"description", a.Description == b.Description},
		{"alias_of", Normalize(a.AliasOf) == Normalize(b.AliasOf)}, {"owner", a.Owner == b.Owner}, {"tags", a.Tags == b.Tags},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// SameCounts reports whether a and b have the same clicks and times, to
// the microsecond both databases keep: an import writes those without a
// new version when they are all that differs.
func SameCounts(a, b Link) bool {
	us := func(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
	return a.Clicks == b.Clicks && us(a.LastClickedAt).Equal(us(b.LastClickedAt)) &&
		us(a.CreatedAt).Equal(us(b.CreatedAt)) && us(a.UpdatedAt).Equal(us(b.UpdatedAt))
}
