"""
Python packaging for `pip install -e .` and the one list of executables.

colcon builds this package with CMake (package.xml says ament_cmake); CMakeLists.txt reads the
console_scripts below and installs one wrapper per entry into lib/dynofa_ros. Keep each entry on
its own line in the form `'name = module:function',`.
"""

from setuptools import find_packages, setup

package_name = 'dynofa_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(include=[package_name, package_name + '.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='dynofa_ros developers',
    maintainer_email='dynofa-ros@example.com',
    description='Dynamic-OFA perception with joint sub-network and DVFS management for ROS 2.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'perception_node = dynofa_ros.nodes.perception_node:main',
            'manager_node = dynofa_ros.nodes.manager_node:main',
            'hardware_node = dynofa_ros.nodes.hardware_node:main',
            'run_system = dynofa_ros.tools.run_system:main',
            'param = dynofa_ros.tools.param:main',
            'topic = dynofa_ros.tools.topic:main',
            'bag = dynofa_ros.tools.bag:main',
            'make_camera_bag = dynofa_ros.tools.make_camera_bag:main',
            'profile = dynofa_ros.tools.profile:main',
            'export_onnx = dynofa_ros.tools.export:main',
            'calibrate = dynofa_ros.tools.calibrate:main',
            'evaluate = dynofa_ros.tools.evaluate:main',
            'demo = dynofa_ros.tools.demo:main',
        ],
    },
)
