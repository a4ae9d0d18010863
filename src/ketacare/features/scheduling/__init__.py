"""Scheduling and the treatment floor (issue 17): sites, chairs, shifts, bookings."""
