"""Stand-ins for the kernel where DVFS cannot run: fake sysfs trees and their emulated effect."""
