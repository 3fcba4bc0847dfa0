"""Reference data the contract publishes alongside its events: the OECD DAC List of ODA
Recipients (editions by id) and the country codes registration accepts."""
