"""One adapter per tracker; see base.Adapter for the contract."""
