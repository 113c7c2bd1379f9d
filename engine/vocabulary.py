"""The words shared by the engine, the CLIs and the app (no torch here, so the app can build
its window before the engine loads).

A composite takes four *slots* (reference images); each slot supplies one *factor* through one
code: background -> b, pose -> z, shape -> p, texture -> c. Code mode uses the four codes;
feature mode takes shape and pose together from the shape image through the feature extractor.
"""

SLOTS = ("background", "pose", "shape", "texture")
MODES = ("code", "feature")
SLOT_FACTOR = {"background": "b", "pose": "z", "shape": "p", "texture": "c"}
LAYERS = (
    "background", "parent", "child", "parent_foreground", "child_foreground",
    "parent_mask", "child_mask",
)  # fmt: skip
