"""The limb family's truth: which movements the sensors could show, as truth.json lists them,
and the PLM series those movements make under the WASM 2016 rules (for checks)."""

from __future__ import annotations

from sleepmove.sensor.simulate_limb_hypnogram import STAGES, Hypnogram
from sleepmove.sensor.simulate_limb_moves import Move
from sleepmove.sensor.simulate_limb_render import Seen

VISIBLE_FLOOR_G = 0.008


def _inside_gap(a: float, b: float, gaps: list[list[float]]) -> bool:
    return any(g0 <= a and b <= g1 for g0, g1 in gaps)


def truth_events(
    moves: list[Move],
    seen: dict[str, dict[int, Seen]],
    noise: dict[str, float],
    gaps: dict[str, list[list[float]]],
    hyp: Hypnogram,
    worn: dict[str, str],
) -> tuple[list[dict], list[dict]]:
    """(events, hidden_events): a leg's part counts where its noise-free departure at the
    samples reaches max(8 mg, 3 noise SDs) and it is not wholly lost in a data gap."""
    events, hidden = [], []
    single = list(worn) == ["single"]
    for index, move in enumerate(moves):  # a loop over movements
        if move.kind == "dropped":
            continue
        shown, reasons = {}, []
        for side, parts in seen.items():  # a loop over sensors
            part = parts.get(index)
            if part is None:
                unworn = worn[side] not in move.actions
                reasons.append("no sensor on that leg" if unworn else "outside")
                continue
            if part.sampled < max(VISIBLE_FLOOR_G, 3 * noise[side]):
                reasons.append("too small")
            elif _inside_gap(part.onset_s, part.end_s, gaps[side]):
                reasons.append("in a data gap")
            else:
                shown[side] = part
        entry = _entry(move, shown or None, hyp)
        if not shown:
            entry["reason"] = ", ".join(sorted(set(reasons))) or "outside"
            hidden.append(entry)
            continue
        if single:
            entry["side"] = ""
        elif len(shown) == 2:
            entry["side"] = "bilateral"
        else:
            entry["side"] = next(iter(shown))
        events.append(entry)
    events.sort(key=lambda e: (e["onset_s"], e["side"]))
    hidden.sort(key=lambda e: e["onset_s"])
    return events, hidden


def _entry(move: Move, shown: dict[str, Seen] | None, hyp: Hypnogram) -> dict:
    if shown:
        onset = min(p.onset_s for p in shown.values())
        end = max(p.end_s for p in shown.values())
        amplitude = max(p.amplitude for p in shown.values())
        sampled = max(p.sampled for p in shown.values())
    else:
        onset, end = move.onset_s, move.end_s()
        amplitude = sampled = 0.0
    kind = move.kind
    if kind == "lm" and shown and max(p.end_s - p.onset_s for p in shown.values()) > 10:
        kind = "movement"
    entry = {
        "onset_s": round(onset, 3),
        "duration_s": round(end - onset, 3),
        "kind": kind,
        "side": "",
        "amplitude": round(amplitude, 4),
        "tag": move.tag,
        "stage": STAGES[int(hyp.stage_at(onset))],
        "hypnic": move.tag == "hypnic",
        "posture_change": any(a.target is not None for a in move.actions.values()),
    }
    if move.series is not None:
        entry["series"] = move.series
    if shown and abs(sampled - amplitude) > 0.01 * amplitude:
        entry["sampled_peak"] = round(sampled, 4)
    if shown and len(shown) > 1:
        entry["parts"] = {
            side: {
                "onset_s": round(p.onset_s, 3),
                "duration_s": round(p.end_s - p.onset_s, 3),
                "amplitude": round(p.amplitude, 4),
            }
            for side, p in shown.items()
        }
    return entry


def plm_series(events: list[dict], gaps: list[list[float]] | None = None) -> list[list[dict]]:
    """PLM series (WASM 2016, simplified: the truth's movements are merged already): runs of at
    least 4 LMs of 0.5-10 s with onset intervals of 10-90 s; a long movement or a gap ends one."""
    found, run = [], []
    for event in sorted(events, key=lambda e: e["onset_s"]):  # a loop over events
        if event["kind"] not in ("lm", "movement"):
            continue
        clm = event["kind"] == "lm" and 0.5 <= event["duration_s"] <= 15
        gap = run and any(run[-1]["onset_s"] <= g0 <= event["onset_s"] for g0, _ in gaps or [])
        interval = event["onset_s"] - run[-1]["onset_s"] if run else None
        if not clm or gap or (interval is not None and not 10 <= interval <= 90):
            if len(run) >= 4:
                found.append(run)
            run = [event] if clm else []
        else:
            run.append(event)
    if len(run) >= 4:
        found.append(run)
    return found
