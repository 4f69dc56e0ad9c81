"""Which registered version is ``champion``: the gate rule and its evidence."""
