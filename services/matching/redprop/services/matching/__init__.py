"""The matching service: resource, demand and service lists, matched optimally and explained."""
