"""The automation engine, free of request code: action kinds now; triggers, dispatch and jobs later."""
