"""A Neutron v2.0 compatible subset: networks, subnets, ports, security groups, quotas."""
