"""`abm validate`: run each study's scenario arms over seeds and check its findings."""
