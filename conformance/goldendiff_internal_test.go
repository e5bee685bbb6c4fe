package conformance

import (
	"encoding/json"
	"strings"
	"testing"
)

// goldenDiff names each changed counter and each changed, missing or
// extra lease database row, next to the golden value, and matches rows
// by identity so one missing row is one line.
func TestGoldenDiff(t *testing.T) {
	golden, err := goldenFS.ReadFile(goldenPath("basic"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(golden, &v); err != nil {
		t.Fatal(err)
	}
	db := v["leasedb"].(map[string]any)
	shares := db["shares"].([]any)
	first := shares[0].(map[string]any)
	si := first["storage_index"].(string)
	db["shares"] = shares[1:]
	lease := db["leases"].([]any)[2].(map[string]any)
	lease["expiration_time"] = 42.0
	v["bucket-counter-state"].(map[string]any)["crawler_state"].(map[string]any)["last-complete-bucket-count"] = 6.0
	v["accounting-state"].(map[string]any)["extra"] = true
	got, _ := json.Marshal(v)

	lines := goldenDiff(golden, got)
	want := []string{
		"accounting-state.extra: got true, not in the golden file",
		"bucket-counter-state.crawler_state.last-complete-bucket-count: got 6, golden 7",
		`leasedb.leases[storage_index="` + lease["storage_index"].(string) + `" shnum=` + show(lease["shnum"]) + ` account_id=` + show(lease["account_id"]) + `].expiration_time: got 42, golden `,
		`leasedb.shares[storage_index="` + si + `" shnum=` + show(first["shnum"]) + `]: missing row, golden {"coming_since"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d differences, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("difference %d:\n got  %s\n want %s…", i, lines[i], want[i])
		}
	}
	if d := goldenDiff(golden, golden); len(d) != 0 {
		t.Errorf("no change gave differences: %v", d)
	}
}
