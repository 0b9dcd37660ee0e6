"""Contact-volume and handle-time forecasting (pure model, storage, API). See docs/wfm.md."""
