"""Framework profiles shipped with the auditor (YAML data files beside this module)."""
