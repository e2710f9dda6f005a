"""The data plane of a compute host: bridges, VXLAN, security groups, DHCP, routers."""
