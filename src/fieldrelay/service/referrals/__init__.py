"""The referral program: referrers, attribution, qualification, review and rewards."""
