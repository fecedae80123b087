"""The simulator families by name, with what each one is: read by the command line without
importing the simulators (numpy), which would delay every command's start."""

from __future__ import annotations

SIMULATOR_FAMILIES: dict[str, str] = {
    "hinge": "a foot hinged in gravity",
    "stages": "a night drawn from a hypnogram, built independently of hinge",
    "kinematic": (
        "a three-segment leg seen by a shank sensor, built apart from both as a held-out "
        "judge: never tune on it"
    ),
    "limb": (
        "a shank in bed, tendon and tissue, built blind to the detector and to the other "
        "families as a second judge: never tune on it"
    ),
    "sway": (
        "a shank pivoting at the knee, muscle thumps and three band models, built blind to "
        "the detector and to the other families as a third judge: never tune on it"
    ),
}
