"""The Lightning code both targets write: options and flags of `Trainer(...)`/`Fabric(...)`,
calls laid out as black lays them out, imports, and the transform that applies node-keyed edits.

It sits below both targets (`converter/targets/trainer`, `converter/targets/fabric`), above the
analysis layer, and knows nothing of either target's plan.
"""
