"""Turns the raw results of scripts/bench/bench.sh into the table (stdout) and the CSV.

usage: report.py RAW_RESULTS OUT_CSV
RAW_RESULTS lines: "meta <key> <value>" or "<scenario> <key> <value>"; a key measured in every round
is "<key>@<round>". Such a metric's value is the median over the rounds (the CSV also gives min and
max); Ztunnel's ratio to a peer is the median of the per-round ratios, each from measurements taken
minutes apart at most, so the machine's drift over a run does not land in it.
"""
import csv
import statistics
import sys

# ztunnel2: a second daemon pair in an A/B run (BENCH_SCENARIOS="ztunnel ztunnel2"), and floor (Ztunnel's capture
# path with a plain relay, scripts/bench/floor-relay.c) last, so the CSV's first columns stay those of earlier runs.
SCENARIOS = ["direct", "ztunnel", "stunnel", "haproxy", "ztunnel2", "floor"]
PEERS = ["stunnel", "haproxy"]
FOREIGN_WARN_PCT = 10   # other processes using more than this much of one CPU make a run untrustworthy
# The machine check (ztunnel-loadgen check, before and after every scenario's measurements): fixed work timed on
# the proxies' CPU. Where a check takes CHECK_SLOW times the run's median or more, the machine's own speed changed
# under the run (other load stays at 1% then, and this VM reports no steal time).
CHECK_SLOW = 1.25
CHECKS = [("check_seal_us", "AES-GCM seal of 16 KiB"), ("check_rtt_us", "loopback TCP round trip")]

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
    ("cpu_us_per_rt", "Proxy CPU per RR round trip (both nodes)", "CPU-us", "lower", 1),
    ("ctxsw_per_mb", "Context switches per MB (not stunnel, floor)", "", "lower", 2),
    ("ctxsw_per_rt", "Context switches per RR round trip (not stunnel, floor)", "", "lower", 2),
    ("ctxsw_per_conn", "Context switches per new conn (not stunnel, floor)", "", "lower", 1),
    ("alloc_per_gb", "Managed allocation per GB (Ztunnel)", "MiB", "lower", 1),
    ("gcs_per_gb", "GCs per GB (all generations)", "", "lower", 1),
    ("alloc_per_conn", "Managed allocation per new connection", "KiB", "lower", 1),
    ("gcs_per_conn", "GCs per 1000 new connections", "", "lower", 2),
    ("pool_per_gb", "Thread-pool work items per GB (Ztunnel)", "", "lower", 0),
    ("pool_per_rt", "Thread-pool work items per RR round trip", "", "lower", 2),
    ("pool_per_conn", "Thread-pool work items per new connection", "", "lower", 1),
    ("warmup_jit_rounds", "Extra 2 s warm-up rounds until the JIT went quiet", "", None, 0),
    ("warmup_jit_last_ms", "JIT time in the last warm-up round (both)", "ms", None, 0),
    ("rss_start_mib", "RSS at start, max of the two", "MiB", "lower", 1),
    ("rss_idle_mib", "RSS idle after load, max of the two", "MiB", "lower", 1),
    ("uss_idle_mib", "Private memory (USS) idle after load, max", "MiB", "lower", 1),
    ("kib_per_conn", "Memory per held connection (both)", "KiB", "lower", 2),
    ("threads_held", "Threads with connections held (both)", "", "lower", 0),
    ("path_conns", "Connections on the path-proving hop", "", None, 0),
    ("errors", "Failed connections (rate + hold)", "", "lower", 0),
    ("foreign_pct", "Other load during the scenario (per round)", "% CPU", None, 0),
    ("check_seal_us", "Machine check: AES-GCM seal of 16 KiB", "us", None, 2),
    ("check_rtt_us", "Machine check: loopback TCP round trip", "us", None, 1),
    ("loadavg", "Load average after the scenario", "", None, 2),
]


def read(path):
    """meta, data[scenario][key] (measured once), rounds[scenario][round][key] (measured per round)."""
    meta, data, rounds = {}, {s: {} for s in SCENARIOS}, {s: {} for s in SCENARIOS}
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
                    v = float(value)
                except ValueError:
                    continue
                if "@" in key:
                    key, r = key.split("@", 1)
                    rounds[scope].setdefault(int(r), {})[key] = v
                else:
                    data[scope][key] = v
    return meta, data, rounds


def derive_rounds(rounds):
    """Per round: the added RR latency against the same round's direct path, and the machine checks as the
    mean of the one before and the one after the scenario's measurements."""
    for s, by_round in rounds.items():
        for r, d in by_round.items():
            direct_rr = rounds["direct"].get(r, {}).get("rr_p50_us")
            if direct_rr is not None and "rr_p50_us" in d:
                d["rr_added_p50_us"] = d["rr_p50_us"] - direct_rr
            for key, _ in CHECKS:
                both = [d[f"{key}_{when}"] for when in ("before", "after") if f"{key}_{when}" in d]
                if both:
                    d[key] = statistics.fmean(both)


def slow_checks(rounds, scenarios):
    """One warning per kind of machine check that took CHECK_SLOW times the run's median or more somewhere."""
    out = []
    for key, label in CHECKS:
        samples = [(r, s, when, d[f"{key}_{when}"]) for s in scenarios for r, d in rounds[s].items()
                   for when in ("before", "after") if f"{key}_{when}" in d]
        if len(samples) < 3:
            continue
        values = [v for *_, v in samples]
        median = statistics.median(values)
        slow = sorted(((r, s, when, v) for r, s, when, v in samples if v >= CHECK_SLOW * median),
                      key=lambda x: (x[0], scenarios.index(x[1]), x[2] == "after"))
        if slow:
            where = ", ".join(f"{when} {s} in round {r} ({v:.2f})" for r, s, when, v in slow[:6])
            more = f" and {len(slow) - 6} more" if len(slow) > 6 else ""
            out.append(f"the machine's speed changed during the run: {len(slow)} of {len(samples)} {label} checks took "
                       f"{CHECK_SLOW}x the run's median ({median:.2f} us) or more, range {min(values):.2f}-{max(values):.2f} us: "
                       f"{where}{more}. A single round may compare a fast phase with a slow one; the medians over "
                       "the rounds are the figures to read")
    return out


def spread(rounds, s, key):
    """The per-round values of one metric of one scenario, in round order."""
    return [d[key] for _, d in sorted(rounds[s].items()) if key in d]


def fold(data, rounds):
    """Puts the median over the rounds of every per-round metric into data; returns (min, max) of each."""
    ranges = {s: {} for s in SCENARIOS}
    for s in SCENARIOS:
        keys = {k for d in rounds[s].values() for k in d}
        for key in keys:
            vals = spread(rounds, s, key)
            data[s][key] = statistics.median(vals)
            ranges[s][key] = (min(vals), max(vals))
        if rounds[s]:
            data[s]["conn_errors"] = sum(spread(rounds, s, "conn_errors"))
    return ranges


def round_ratios(rounds, key, num, dens, higher):
    """Per round: num's value over the best of dens' values in that round (one den: that den's value)."""
    out = []
    for r in sorted(rounds[num]):
        z = rounds[num][r].get(key)
        vals = [rounds[d].get(r, {}).get(key) for d in dens]
        vals = [v for v in vals if v is not None]
        if z is None or not vals:
            continue
        b = max(vals) if higher else min(vals)
        if b > 0:
            out.append(z / b)
    return out


def derive(data):
    for s, d in data.items():
        if not d:
            continue
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


# The targets measured against the peers, per round: key, factor, higher is better, text.
RATIO_TARGETS = [
    ("tput1_gbps", 1.2, True, "1-stream throughput >= 1.2x best mTLS peer"),
    ("conn_rate", 4.0, True, "new-connection rate >= 4x best mTLS peer"),
    ("rr_added_p50_us", 1.0, False, "added RR latency p50 <= best mTLS peer's"),
]


def targets(data, rounds):
    """The issue's targets for Ztunnel, each as (key, text, met or None when not measurable, value, per-round
    ratios to the best peer). A ratio target is met when the median of the per-round ratios is."""
    z = data["ztunnel"]
    peers = [p for p in PEERS if data[p]]
    out = []
    for key, factor, higher, text in RATIO_TARGETS:
        rs = round_ratios(rounds, key, "ztunnel", peers, higher) if peers else []
        if rs:
            m = statistics.median(rs)
            met = m >= factor if higher else m <= factor
        else:
            met = None
        out.append((key, text, met, z.get(key), rs))
    out.append(("kib_per_conn", "<= 8 KiB per held connection, both daemons together",
                None if "kib_per_conn" not in z else z["kib_per_conn"] <= 8, z.get("kib_per_conn"), []))
    idle = max([z[k] for k in ("rss_start_mib", "rss_idle_mib") if k in z], default=None)
    out.append(("rss_idle_mib", "idle RSS <= 40 MiB per daemon (worst of start and after load)",
                None if idle is None else idle <= 40, idle, []))
    return out


def fmt(v, decimals):
    return "-" if v is None else f"{v:.{decimals}f}"


def main():
    meta, data, rounds = read(sys.argv[1])
    derive_rounds(rounds)
    ranges = fold(data, rounds)
    derive(data)
    scenarios = [s for s in SCENARIOS if data[s]]
    target_rows = targets(data, rounds)
    target_by_key = {t[0]: t for t in target_rows}
    rows = []
    for key, label, unit, better, dec in METRICS:
        vals = {s: data[s].get(key) for s in scenarios}
        if all(v is None for v in vals.values()):
            continue
        ratios = {}
        for p in PEERS:
            rs = round_ratios(rounds, key, "ztunnel", [p], True) if data["ztunnel"] and data[p] else []
            if rs:
                ratios[p] = (statistics.median(rs), min(rs), max(rs))
            else:
                r = ratio(vals.get("ztunnel"), vals.get(p))
                ratios[p] = None if r is None else (r, r, r)
        rows.append((key, label, unit, better, dec, vals, ratios))

    # Table.
    # One scenario (a ztunnel-only run): no ratios, but the spread over the rounds instead.
    solo = scenarios[0] if len(scenarios) == 1 else None
    # Two daemon pairs (an A/B run): ztunnel2 / ztunnel per round, the median and (min-max) over the rounds.
    ab = "ztunnel" in scenarios and "ztunnel2" in scenarios
    head = (["metric", "unit"] + scenarios + [f"zt/{p}" for p in PEERS if p in scenarios] + (["min-max"] if solo else [])
            + (["zt2/zt"] if ab else []))
    table = [head]
    for key, label, unit, better, dec, vals, ratios in rows:
        line = [label, unit] + [fmt(vals[s], dec) for s in scenarios]
        if solo:
            lo_hi = ranges[solo].get(key)
            line.append("-" if lo_hi is None else f"{fmt(lo_hi[0], dec)}-{fmt(lo_hi[1], dec)}")
        for p in PEERS:
            if p in scenarios:
                r = ratios[p] if better else None
                cell = "-" if r is None else f"{r[0]:.2f}x"
                if r is not None and key in target_by_key and r[1] != r[2]:
                    cell += f" ({r[1]:.2f}-{r[2]:.2f})"
                line.append(cell)
        if ab:
            rs = round_ratios(rounds, key, "ztunnel2", ["ztunnel"], True)
            r = ratio(vals.get("ztunnel2"), vals.get("ztunnel"))
            line.append(f"{statistics.median(rs):.3f} ({min(rs):.3f}-{max(rs):.3f})" if rs
                        else "-" if r is None else f"{r:.3f}")
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    n_rounds = meta.get("rounds", "1")
    print(f"Ztunnel end-to-end bench, {meta.get('date', '?')}, {meta.get('cpus', '?')} CPUs "
          f"({meta.get('cpu_model', '?').replace('_', ' ')}), kernel {meta.get('kernel', '?')}")
    print(f"versions: {meta.get('versions', '?')}")
    print(f"pinning: load generators + servers on CPU {meta.get('app_cpus')}, both proxies of a scenario on CPU "
          f"{meta.get('proxy_cpus')}; {meta.get('duration_s')} s per measurement after {meta.get('warmup_s', '?')} s of warm-up traffic (Ztunnel: plus rounds until its JIT went quiet), {meta.get('hold')} held connections, "
          f"{meta.get('concurrency')} connection-rate threads")
    orders = "; ".join(meta[k].replace(",", " ") for k in sorted((k for k in meta if k.startswith("order@")),
                                                                 key=lambda k: int(k.split("@")[1])))
    print(f"{n_rounds} round(s) of every scenario's measurements, order rotating ({orders}); values are medians over the rounds")
    print(f"load average before: {meta.get('load_before', '?')}; other processes before: {meta.get('foreign_before_pct', '?')}% of one CPU; "
          f"run took {meta.get('elapsed_s', '?')} s (build included)")
    print()
    for i, r in enumerate(table):
        print("  ".join(c.ljust(widths[j]) if j < 2 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if ab:
        print(f"\nztunnel2: {meta.get('ztunnel2', '?')}. zt2/zt: its value divided by ztunnel's, the median of the per-round"
              "\nratios (min-max over the rounds): the two pairs were measured in the same rounds, so drift cancels.")
    if any(p in scenarios for p in PEERS) and "ztunnel" in scenarios:
        print("\nzt/peer: Ztunnel's value divided by the peer's (higher is better for throughput and rate, lower for the rest),"
              "\nthe median of the per-round ratios; (min-max) over the rounds for the rows with a target.")

    if "floor" in scenarios and "ztunnel" in scenarios:
        floor_rr, zt_rr = data["floor"].get("rr_added_p50_us"), data["ztunnel"].get("rr_added_p50_us")
        floor_cpu, zt_cpu = data["floor"].get("cpu_us_per_rt"), data["ztunnel"].get("cpu_us_per_rt")
        if None not in (floor_rr, zt_rr, floor_cpu, zt_cpu):
            print(f"\nfloor: Ztunnel's capture path (its pod rules, listeners, marks and legs) with a plain relay and no TLS."
                  f"\nAdded RR p50: the capture path itself {floor_rr:.1f} us; Ztunnel's TLS, HTTP/2 and code on top of it"
                  f" {zt_rr - floor_rr:.1f} us\n(CPU per round trip {zt_cpu:.1f} against the floor's {floor_cpu:.1f} us).")

    # Targets.
    print("\nTargets (Ztunnel, this run):")
    for key, text, met, value, rs in target_rows:
        state = "n/a " if met is None else ("MET " if met else "MISS")
        detail = ""
        if rs:
            detail = (f"; vs the best peer per round: median {statistics.median(rs):.2f}x"
                      f" (rounds: {' '.join(f'{r:.2f}' for r in rs)})")
        print(f"  [{state}] {text}: {fmt(value, 2)}{detail}")

    # Load warnings.
    warnings = []
    try:
        if float(meta.get("foreign_before_pct", 0)) > FOREIGN_WARN_PCT:
            warnings.append(f"other processes used {meta['foreign_before_pct']}% of one CPU before the run")
    except ValueError:
        pass
    for s in scenarios:
        for r, d in sorted(rounds[s].items()):
            f = d.get("foreign_pct")
            if f is not None and f > FOREIGN_WARN_PCT:
                warnings.append(f"other processes used {f:.0f}% of one CPU during the {s} scenario in round {r}")
        f = data[s].get("foreign_pct") if not rounds[s] else None
        if f is not None and f > FOREIGN_WARN_PCT:
            warnings.append(f"other processes used {f:.0f}% of one CPU during the {s} scenario")
    warnings += slow_checks(rounds, scenarios)
    if warnings:
        print("\nWARNING: this machine was busy or slow; the numbers are NOT trustworthy for comparison:")
        for w in warnings:
            print(f"  - {w}")

    with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        # The first columns are those readers of earlier runs know; the rest came with the rounds.
        w.writerow(["metric", "unit", "better"] + SCENARIOS + [f"ztunnel_vs_{p}" for p in PEERS] + ["target", "target_met"]
                   + ["rounds"] + [f"{s}_{m}" for s in SCENARIOS for m in ("min", "max")]
                   + [f"ztunnel_vs_{p}_{m}" for p in PEERS for m in ("min", "max")]
                   + ["target_ratio", "target_ratio_min", "target_ratio_max", "target_ratio_rounds"])
        for key, label, unit, better, dec, vals, ratios in rows:
            _, text, met, _, rs = target_by_key.get(key, (key, "", None, None, []))
            n = max((len(spread(rounds, s, key)) for s in scenarios), default=0)
            w.writerow([key, unit, better or ""] + [fmt(vals.get(s), dec + 1) if s in vals else "" for s in SCENARIOS]
                       + ["" if ratios[p] is None else f"{ratios[p][0]:.3f}" for p in PEERS]
                       + [text, "" if met is None else ("yes" if met else "no")]
                       + [n or ""]
                       + [fmt(ranges[s][key][i], dec + 1) if key in ranges[s] else "" for s in SCENARIOS for i in (0, 1)]
                       + ["" if ratios[p] is None or key not in ranges["ztunnel"] else f"{ratios[p][1 + i]:.3f}"
                          for p in PEERS for i in (0, 1)]
                       + (["", "", "", ""] if not rs else
                          [f"{statistics.median(rs):.3f}", f"{min(rs):.3f}", f"{max(rs):.3f}", " ".join(f"{r:.3f}" for r in rs)]))
        w.writerow(["load_before", "", ""] + [meta.get("load_before", "")] + [""] * (len(SCENARIOS) + len(PEERS) + 1))


if __name__ == "__main__":
    main()
