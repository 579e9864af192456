#!/usr/bin/env python3
"""Writes the bank holidays the Python `holidays` package (0.109) gives for each
UK region, 2000-2060, as the oracle the calendar's tests compare against.

    python3 -m venv /tmp/hv && /tmp/hv/bin/pip install holidays==0.109
    /tmp/hv/bin/python tools/bank-holiday-oracle.py > crates/domain/tests/fixtures/bank-holidays-oracle.csv

Output: region,date,name (sorted). Only days that are bank holidays in the
region are listed (the package's UK calendar, subdivision ENG/SCT/NIR).
"""
import sys
import holidays

REGIONS = [("england-and-wales", "ENG"), ("scotland", "SCT"), ("northern-ireland", "NIR")]

out = sys.stdout
out.write("region,date,name\n")
for slug, subdiv in REGIONS:
    days = holidays.UK(subdiv=subdiv, years=range(2000, 2061))
    for d in sorted(days):
        name = days.get(d).replace(",", ";")
        out.write(f"{slug},{d.isoformat()},{name}\n")
