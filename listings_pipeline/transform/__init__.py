"""Transform stage: raw records → mapped, normalised, validated, hashed, matched stage rows."""
