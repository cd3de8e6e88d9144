"""``nnspeed optimize``: the fastest variant that stays accurate and meets the budget."""
