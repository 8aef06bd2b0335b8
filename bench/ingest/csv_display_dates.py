#!/usr/bin/env python3
"""Rewrites an AzureDiagnostics CSV export (`simulate --format azure-diagnostics-csv`) as the
Azure portal writes one: `TimeGenerated [UTC]` in its display form (`11/3/2025, 9:00:05 AM`),
every date on a day whose two numbers are both 12 or less, so that no row tells day-first from
month-first and every row is held until the end of the file (the case of session 37's bounded
hold; `docs/performance.md`).

usage: csv_display_dates.py IN OUT
"""
import csv
import sys
from datetime import datetime

csv.field_size_limit(1 << 30)
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
    r = csv.reader(f)
    w = csv.writer(g, lineterminator="\n")
    head = next(r)
    i = head.index("TimeGenerated")
    head[i] = "TimeGenerated [UTC]"
    w.writerow(head)
    for row in r:
        t = datetime.strptime(row[i][:19].replace(" ", "T"), "%Y-%m-%dT%H:%M:%S")
        hour = t.hour % 12 or 12
        row[i] = f"11/3/2025, {hour}:{t.minute:02}:{t.second:02} {'AM' if t.hour < 12 else 'PM'}"
        w.writerow(row)
