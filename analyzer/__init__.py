"""deed analyze: detectors, worst-case gas bounds and reports for auditors."""
