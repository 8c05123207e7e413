"""Storage of the referral program: referrers, referrals, rewards and their figures."""
