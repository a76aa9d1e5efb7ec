"""Trading strategies behind one interface: the ML strategy (the confidence gate's own) and
rule strategies, selectable per deployment and switchable by the operator at run time."""
