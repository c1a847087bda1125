"""Small example AIRs that exercise the engine before any real VM model."""
