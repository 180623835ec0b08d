"""The Salesforce boundary: everything that talks to Salesforce (or the local org) lives here, without Flask."""
