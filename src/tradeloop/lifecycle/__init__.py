"""Strategy graduation (seed 000): stages and their criteria, capital allocation,
retirement and the candidate catalogue. Pure: the composition root feeds it track records
and stores what it decides."""
