"""The JIP services. Each sub-package is an independent bounded context and process:
they import nothing from one another and share only the contract in `events/`."""
