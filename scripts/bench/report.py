"""Turns the raw results of scripts/bench/bench.sh into the table (stdout) and the CSV.

usage: report.py RAW_RESULTS OUT_CSV
RAW_RESULTS lines: "meta <key> <value>" or "<scenario> <key> <value>".
"""
import csv
import sys

SCENARIOS = ["direct", "ztunnel", "stunnel", "haproxy"]
PEERS = ["stunnel", "haproxy"]
FOREIGN_WARN_PCT = 10   # other processes using more than this much of one CPU make a run untrustworthy

# key, label, unit, better ("higher"/"lower"/None), decimals
METRICS = [
    ("tput1_gbps", "Throughput, 1 stream", "Gbit/s", "higher", 2),
    ("tput4_gbps", "Throughput, 4 streams", "Gbit/s", "higher", 2),
    ("rr_p50_us", "Request/response 64 B, p50", "us", "lower", 1),
    ("rr_p99_us", "Request/response 64 B, p99", "us", "lower", 1),
    ("rr_added_p50_us", "Added RR latency p50 (vs direct)", "us", "lower", 1),
    ("conn_rate", "New connections (connect, 1 RR, close)", "conn/s", "higher", 0),
    ("conn_p50_us", "New connection p50", "us", "lower", 0),
    ("conn_p99_us", "New connection p99", "us", "lower", 0),
    ("cpu_s_per_gb", "Proxy CPU per GB (both nodes)", "CPU-s/GB", "lower", 2),
    ("cpu_us_per_conn", "Proxy CPU per new connection", "CPU-us", "lower", 0),
    ("ctxsw_per_mb", "Context switches per MB (not stunnel)", "", "lower", 2),
    ("ctxsw_per_conn", "Context switches per new conn (not stunnel)", "", "lower", 1),
    ("alloc_per_gb", "Managed allocation per GB (Ztunnel)", "MiB", "lower", 1),
    ("gcs_per_gb", "GCs per GB (all generations)", "", "lower", 1),
    ("alloc_per_conn", "Managed allocation per new connection", "KiB", "lower", 1),
    ("gcs_per_conn", "GCs per 1000 new connections", "", "lower", 2),
    ("warmup_jit_rounds", "Extra 2 s warm-up rounds until the JIT went quiet", "", None, 0),
    ("warmup_jit_last_ms", "JIT time in the last warm-up round (both)", "ms", None, 0),
    ("rss_start_mib", "RSS at start, max of the two", "MiB", "lower", 1),
    ("rss_idle_mib", "RSS idle after load, max of the two", "MiB", "lower", 1),
    ("uss_idle_mib", "Private memory (USS) idle after load, max", "MiB", "lower", 1),
    ("kib_per_conn", "Memory per held connection (both)", "KiB", "lower", 2),
    ("threads_held", "Threads with connections held (both)", "", "lower", 0),
    ("path_conns", "Connections on the path-proving hop", "", None, 0),
    ("errors", "Failed connections (rate + hold)", "", "lower", 0),
    ("foreign_pct", "Other load during the scenario", "% CPU", None, 0),
    ("loadavg", "Load average after the scenario", "", None, 2),
]


def read(path):
    meta, data = {}, {s: {} for s in SCENARIOS}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) != 3:
                continue
            scope, key, value = parts[0], parts[1], parts[2].strip()
            if scope == "meta":
                meta[key] = value
            elif scope in data:
                try:
                    data[scope][key] = float(value)
                except ValueError:
                    pass
    return meta, data


def derive(data):
    direct_rr = data["direct"].get("rr_p50_us")
    for s, d in data.items():
        if not d:
            continue
        if direct_rr is not None and "rr_p50_us" in d:
            d["rr_added_p50_us"] = d["rr_p50_us"] - direct_rr
        for phase in ("start", "idle"):
            sides = [d[k] for k in (f"rss_{phase}_a_kib", f"rss_{phase}_b_kib") if k in d]
            if sides:
                d[f"rss_{phase}_mib"] = max(sides) / 1024
        sides = [d[k] for k in ("rss_idle_a_uss_kib", "rss_idle_b_uss_kib") if k in d]
        if sides:
            d["uss_idle_mib"] = max(sides) / 1024
        if all(k in d for k in ("rss_held_a_kib", "rss_held_b_kib", "rss_idle_a_kib", "rss_idle_b_kib")) and d.get("held"):
            grown = (d["rss_held_a_kib"] - d["rss_idle_a_kib"]) + (d["rss_held_b_kib"] - d["rss_idle_b_kib"])
            d["kib_per_conn"] = grown / d["held"]
        if "rss_held_a_threads" in d:
            d["threads_held"] = d["rss_held_a_threads"] + d.get("rss_held_b_threads", 0)
        d["errors"] = d.get("conn_errors", 0) + d.get("hold_errors", 0)


def ratio(z, p):
    if z is None or p is None or p == 0:
        return None
    return z / p


def targets(data):
    """The issue's targets for Ztunnel, each as (text, met or None when not measurable)."""
    z = data["ztunnel"]
    peers = [data[p] for p in PEERS if data[p]]
    out = []

    def best(key, higher):
        vals = [p[key] for p in peers if key in p]
        return (max(vals) if higher else min(vals)) if vals else None

    b = best("tput1_gbps", True)
    out.append((f"1-stream throughput >= 1.2x best mTLS peer ({b and 1.2 * b:.2f} Gbit/s)" if b else "1-stream throughput >= 1.2x best peer",
                None if b is None or "tput1_gbps" not in z else z["tput1_gbps"] >= 1.2 * b, z.get("tput1_gbps")))
    b = best("conn_rate", True)
    out.append((f"new-connection rate >= 4x best mTLS peer ({b and 4 * b:.0f}/s)" if b else "new-connection rate >= 4x best peer",
                None if b is None or "conn_rate" not in z else z["conn_rate"] >= 4 * b, z.get("conn_rate")))
    b = best("rr_added_p50_us", False)
    out.append((f"added RR latency p50 <= best mTLS peer's ({b:.1f} us)" if b is not None else "added RR p50 <= best peer's",
                None if b is None or "rr_added_p50_us" not in z else z["rr_added_p50_us"] <= b, z.get("rr_added_p50_us")))
    out.append(("<= 8 KiB per held connection, both daemons together",
                None if "kib_per_conn" not in z else z["kib_per_conn"] <= 8, z.get("kib_per_conn")))
    idle = max([z[k] for k in ("rss_start_mib", "rss_idle_mib") if k in z], default=None)
    out.append(("idle RSS <= 40 MiB per daemon (worst of start and after load)",
                None if idle is None else idle <= 40, idle))
    return out


def fmt(v, decimals):
    return "-" if v is None else f"{v:.{decimals}f}"


def main():
    meta, data = read(sys.argv[1])
    derive(data)
    scenarios = [s for s in SCENARIOS if data[s]]
    rows = []
    for key, label, unit, better, dec in METRICS:
        vals = {s: data[s].get(key) for s in scenarios}
        if all(v is None for v in vals.values()):
            continue
        ratios = {p: ratio(vals.get("ztunnel"), vals.get(p)) for p in PEERS}
        rows.append((key, label, unit, better, dec, vals, ratios))

    # Table.
    head = ["metric", "unit"] + scenarios + [f"zt/{p}" for p in PEERS if p in scenarios]
    table = [head]
    for key, label, unit, better, dec, vals, ratios in rows:
        line = [label, unit] + [fmt(vals[s], dec) for s in scenarios]
        for p in PEERS:
            if p in scenarios:
                r = ratios[p] if better else None
                line.append("-" if r is None else f"{r:.2f}x")
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    print(f"Ztunnel end-to-end bench, {meta.get('date', '?')}, {meta.get('cpus', '?')} CPUs "
          f"({meta.get('cpu_model', '?').replace('_', ' ')}), kernel {meta.get('kernel', '?')}")
    print(f"versions: {meta.get('versions', '?')}")
    print(f"pinning: load generators + servers on CPU {meta.get('app_cpus')}, both proxies of a scenario on CPU "
          f"{meta.get('proxy_cpus')}; {meta.get('duration_s')} s per measurement after {meta.get('warmup_s', '?')} s of warm-up traffic (Ztunnel: plus rounds until its JIT went quiet), {meta.get('hold')} held connections, "
          f"{meta.get('concurrency')} connection-rate threads")
    print(f"load average before: {meta.get('load_before', '?')}; other processes before: {meta.get('foreign_before_pct', '?')}% of one CPU")
    print()
    for i, r in enumerate(table):
        print("  ".join(c.ljust(widths[j]) if j < 2 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("\nzt/peer: Ztunnel's value divided by the peer's (higher is better for throughput and rate, lower for the rest).")

    # Targets.
    print("\nTargets (Ztunnel, this run):")
    met_by_key = {}
    keys = ["tput1_gbps", "conn_rate", "rr_added_p50_us", "kib_per_conn", "rss_idle_mib"]
    for key, (text, met, value) in zip(keys, targets(data)):
        met_by_key[key] = (text, met)
        state = "n/a " if met is None else ("MET " if met else "MISS")
        print(f"  [{state}] {text}: {fmt(value, 2)}")

    # Load warnings.
    warnings = []
    try:
        if float(meta.get("foreign_before_pct", 0)) > FOREIGN_WARN_PCT:
            warnings.append(f"other processes used {meta['foreign_before_pct']}% of one CPU before the run")
    except ValueError:
        pass
    for s in scenarios:
        f = data[s].get("foreign_pct")
        if f is not None and f > FOREIGN_WARN_PCT:
            warnings.append(f"other processes used {f:.0f}% of one CPU during the {s} scenario")
    if warnings:
        print("\nWARNING: this machine was busy; the numbers are NOT trustworthy for comparison:")
        for w in warnings:
            print(f"  - {w}")

    with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["metric", "unit", "better"] + SCENARIOS + [f"ztunnel_vs_{p}" for p in PEERS] + ["target", "target_met"])
        for key, label, unit, better, dec, vals, ratios in rows:
            text, met = met_by_key.get(key, ("", None))
            w.writerow([key, unit, better or ""] + [fmt(vals.get(s), dec + 1) if s in vals else "" for s in SCENARIOS]
                       + ["" if ratios[p] is None else f"{ratios[p]:.3f}" for p in PEERS]
                       + [text, "" if met is None else ("yes" if met else "no")])
        w.writerow(["load_before", "", ""] + [meta.get("load_before", "")] + [""] * (len(SCENARIOS) + len(PEERS) + 1))


if __name__ == "__main__":
    main()
