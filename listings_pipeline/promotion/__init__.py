"""Promotion: approved stage rows → production tables, set-based, one transaction per batch."""
