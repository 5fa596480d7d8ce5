"""zsbench's built-in plugins. Each is written exactly as a third-party plugin would be: it uses
only the public ``zsbench.hookimpl`` marker and the register callback, and imports heavy
libraries inside its factories."""
