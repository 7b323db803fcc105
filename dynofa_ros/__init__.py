"""
dynofa_ros: Dynamic-OFA perception with joint sub-network and DVFS management.

The generated interfaces (`dynofa_ros.msg`) live in the install space while the hand-written
modules may be imported from the source tree; extend_path lets both halves form one package.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
