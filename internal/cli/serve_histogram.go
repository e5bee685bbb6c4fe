package cli

import (
	"fmt"
	"html/template"
	"strings"
)

// Dimensions of the lease-age chart, in SVG user units.
const (
	chartWidth  = 640
	chartHeight = 220
	chartLeft   = 50 // room for the count axis
	chartBottom = 40 // room for the age labels
)

// histogramSVG draws the lease-age histogram (sorted [min, max, count]
// buckets, ages in seconds) as an inline SVG bar chart: one bar per
// bucket, labelled with its lower bound in days, and the largest count
// on the vertical axis. An empty histogram is a sentence instead.
func histogramSVG(buckets [][3]int64) template.HTML {
	if len(buckets) == 0 {
		return template.HTML(`<p class="muted" id="no-leases">No lease ages yet: the first accounting cycle fills this in.</p>`)
	}
	var top int64
	for _, b := range buckets {
		top = max(top, b[2])
	}
	plotW, plotH := float64(chartWidth-chartLeft-10), float64(chartHeight-chartBottom-10)
	slot := plotW / float64(len(buckets))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" id="lease-age-chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Lease-age histogram">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&sb, `<title>Lease ages: number of leases by age in days</title>`)
	base := float64(chartHeight - chartBottom)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999"/>`, chartLeft, base, chartWidth-10, base)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>`, chartLeft-4, 16, top)
	fmt.Fprintf(&sb, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">0</text>`, chartLeft-4, base)
	for i, b := range buckets {
		h := 0.0
		if top > 0 {
			h = plotH * float64(b[2]) / float64(top)
		}
		x := float64(chartLeft) + float64(i)*slot
		fmt.Fprintf(&sb, `<rect class="bucket" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3a7" data-min="%d" data-max="%d" data-count="%d"><title>%s to %s: %d leases</title></rect>`,
			x+slot*0.1, base-h, slot*0.8, h, b[0], b[1], b[2], days(b[0]), days(b[1]), b[2])
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x+slot/2, base+14, days(b[0]))
	}
	fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">lease age (days)</text>`, float64(chartLeft)+plotW/2, chartHeight-6)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// days formats seconds as whole days, "3d".
func days(sec int64) string { return fmt.Sprintf("%dd", sec/86400) }
