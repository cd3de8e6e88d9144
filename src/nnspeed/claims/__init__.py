"""``nnspeed study``: the usual claims about neural-network speed, checked on this machine."""
