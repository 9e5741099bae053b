"""When weekly posts are due: local times in each server's zone, and the clock that wakes us."""
