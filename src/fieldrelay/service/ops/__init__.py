"""Operations: the daily emails to the shop (error digest, open-loop review)."""
