// QuotaCRDT: calendar windows, G-counters and escrow rights that keep a quota cap exact
// across the cluster (DESIGN.md section 4). Pure: `now` is always an argument.
