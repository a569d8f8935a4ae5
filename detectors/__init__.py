"""Per-customer state and features, online detectors, the risk model, grading, reason codes
and the warning policy. Nothing in here does I/O."""
