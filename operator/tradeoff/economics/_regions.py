"""Grid carbon intensity per cloud region, in gCO2e per kWh.

Keys are the values of the node label ``topology.kubernetes.io/region`` on EKS, GKE and
AKS. Values are the Cloud Carbon Footprint grid emission factors (methodology appendix
"Grid emissions factors", metric tons per kWh times 10^6), which CCF takes from:

* AWS and Azure in the US: EPA eGRID, by NERC region;
* Europe: the European Environment Agency's CO2 emission intensity;
* elsewhere: carbonfootprint.com's 2021 electricity factors;
* GCP: Google's published location-based grid factors (not the CFE-adjusted ones).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

REGION_GRAMS_PER_KWH: Final = MappingProxyType(
    {
        # AWS
        "us-east-1": 379.069,  # N. Virginia, SERC
        "us-east-2": 410.608,  # Ohio, RFC
        "us-west-1": 322.167,  # N. California, WECC
        "us-west-2": 322.167,  # Oregon, WECC
        "ca-central-1": 120.0,  # Canada
        "eu-west-1": 278.6,  # Ireland
        "eu-west-2": 225.0,  # London
        "eu-west-3": 51.1,  # Paris
        "eu-central-1": 311.0,  # Frankfurt
        "eu-north-1": 8.8,  # Stockholm
        "eu-south-1": 213.4,  # Milan
        "ap-south-1": 708.2,  # Mumbai
        "ap-northeast-1": 465.8,  # Tokyo
        "ap-southeast-1": 408.0,  # Singapore
        "ap-southeast-2": 760.0,  # Sydney
        "sa-east-1": 61.7,  # Sao Paulo
        # Google Cloud
        "us-central1": 454.0,  # Iowa
        "us-east1": 480.0,  # South Carolina
        "us-east4": 361.0,  # Northern Virginia
        "us-west1": 78.0,  # Oregon
        "europe-west1": 212.0,  # Belgium
        "europe-west2": 231.0,  # London
        "europe-west3": 293.0,  # Frankfurt
        "europe-west4": 410.0,  # Netherlands
        "europe-north1": 133.0,  # Finland
        "asia-northeast1": 554.0,  # Tokyo
        "asia-southeast1": 493.0,  # Singapore
        "asia-south1": 721.0,  # Mumbai
        "australia-southeast1": 727.0,  # Sydney
        # Azure (AKS region label values)
        "eastus": 379.069,  # Virginia, SERC
        "eastus2": 379.069,  # Virginia, SERC
        "centralus": 426.254,  # Iowa, MRO
        "westus2": 322.167,  # Washington, WECC
        "northeurope": 278.6,  # Ireland
        "westeurope": 328.4,  # Netherlands
        "francecentral": 51.28,  # Paris
        "swedencentral": 5.67,  # Gavle and Sandviken
        "southeastasia": 408.0,  # Singapore
        "japaneast": 465.8,  # Tokyo, Saitama
        "australiaeast": 790.0,  # New South Wales
    }
)
