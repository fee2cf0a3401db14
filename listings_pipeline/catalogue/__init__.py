"""The production catalogue seen from outside the pipeline (seed 003): claims that take a
listing over from its source, and the published catalogue consumers read (egress views, the
JSON-LD export and the read-only catalogue API's queries)."""
