"""Write the hostile-file corpus in tests/data/bad/ (deterministic; run from the repository root).

python tests/data/make_bad.py
"""

import gzip
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")
START = 1_741_991_400.0
RATE = 10.0


def night(minutes=11.0, start=START, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    t = start + np.arange(int(minutes * 60 * RATE)) / RATE
    xyz = np.tile([0.1, -0.2, 0.97], (len(t), 1)) + rng.normal(0, 0.004, (len(t), 3))
    for onset in np.arange(120, minutes * 60 - 30, 30.0):  # a tilt every 30 s
        span = slice(int(onset * RATE), int((onset + 2) * RATE))
        xyz[span, 1] += 0.25
    return t, xyz * scale


def lines(t, xyz):
    return ["time,x,y,z"] + [f"{a:.3f},{b:.4f},{c:.4f},{d:.4f}" for a, (b, c, d) in zip(t, xyz)]


def write(name, text_lines, end="\n"):
    with open(os.path.join(HERE, name), "w") as handle:
        handle.write("\n".join(text_lines) + end)


def main():
    os.makedirs(HERE, exist_ok=True)
    long_t, long_xyz = night(minutes=14.0)
    data = ("\n".join(lines(long_t, long_xyz)) + "\n").encode()
    packed = gzip.compress(data, mtime=0)
    with open(os.path.join(HERE, "truncated.csv.gz"), "wb") as handle:
        handle.write(packed[: int(len(packed) * 0.9)])
    t, xyz = night()
    body = lines(t, xyz)
    write("truncated_last_line.csv", body + ["1741992060.100,0.1"], end="")
    nan = list(body)
    nan[100] = "1741991409.900,nan,0.1,0.9"
    nan[200] = "1741991419.900,0.1,inf,0.9"
    write("nan_values.csv", nan)
    saturated = xyz.copy()
    saturated[3000:3010, 0] = 4.0
    saturated[:, 0] = np.clip(saturated[:, 0], -4, 4)
    write("saturated.csv", lines(t, saturated))
    reset = t.copy()
    reset[4000:] = reset[4000:] - reset[4000] + 5.0 + START - 3600  # clock jumps an hour back
    write("clock_reset.csv", lines(reset, xyz))
    duplicated = body[:3000] + body[2990:3000] + body[3000:]
    write("duplicated_rows.csv", duplicated)
    write("left_g.csv", lines(*night(seed=1)))
    write("right_ms2.csv", lines(*night(scale=9.80665, seed=2)))
    write("left_early.csv", lines(*night(seed=3)))
    write("right_late.csv", lines(*night(start=START + 7200, seed=4)))
    write(
        "epoch_counts.csv",
        ["TimeStamp,axis1,axis2,axis3,steps,vm"]
        + [f"2025-03-14T22:{m:02d}:00Z,{m},0,0,0,{m}" for m in range(30)],
    )
    write("empty.csv", [], end="")
    with open(os.path.join(HERE, "binary.csv"), "wb") as handle:
        handle.write(bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8)))
    junk = list(body)
    junk[4] = "1741991400.300,0.1,oops,0.9"
    write("junk_line.csv", junk)
    # Issue 18: one-minute epochs; stamps in Unix microseconds; a flipped digit (+31 years)
    # in one stamp; a clock that jumps 31 years for good; junk in one time cell; a header
    # with spaces after the commas.
    minutes = START + 60.0 * np.arange(600)
    write("minute_epochs.csv", lines(minutes, xyz[:600]))
    micro = ["time,x,y,z"] + [f"{round(a * 1e6)},{b:.4f},{c:.4f},{d:.4f}" for a, (b, c, d) in
                              zip(t, xyz)]  # fmt: skip
    write("unix_microseconds.csv", micro)
    flipped = list(body)
    flipped[3001] = "2" + flipped[3001][1:]  # 1741... -> 2741...: a thousand million s later
    write("flipped_digit.csv", flipped)
    jumped = t.copy()
    jumped[3000:] += 31 * 365.25 * 86400
    write("clock_jump_years.csv", lines(jumped, xyz))
    junk_time = list(body)
    junk_time[3001] = "17419917O0.000" + junk_time[3001][14:]
    write("junk_time.csv", junk_time)
    spaced = [", ".join(line.split(",")) for line in body]
    write("spaced_header.csv", spaced)


if __name__ == "__main__":
    main()
