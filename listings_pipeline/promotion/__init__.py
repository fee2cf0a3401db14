"""Promotion: approved stage rows → production tables, set-based, one transaction per batch.

promote      the batch steps (promote.sql), history versions and NOTIFY per batch
policy       source policies of the config's `promotion:` section as SQL parameters
history      what changed in a job, a listing's versions, a listing as of a time
expiry       archive expired listings, restore renewed ones (seed 004)
"""
