#Requires -Version 5.1
<#
.SYNOPSIS
    Reads the live-migration settings of Hyper-V hosts for hvaudit (--hosts). Changes nothing.

.DESCRIPTION
    For each host, over WinRM (Invoke-Command), reads:
      - Get-VMHost: VirtualMachineMigrationEnabled, VirtualMachineMigrationAuthenticationType,
        VirtualMachineMigrationPerformanceOption, UseAnyNetworkForMigration,
        MaximumVirtualMachineMigrations. Cross-checked against, or when the Hyper-V PowerShell
        module is missing replaced by, CIM Msvm_VirtualSystemMigrationServiceSettingData in
        root\virtualization\v2 (AuthenticationType 0 = CredSSP, 1 = Kerberos).
      - CredentialGuardRunning: Win32_DeviceGuard (root\Microsoft\Windows\DeviceGuard)
        SecurityServicesRunning contains 1.
      - LastBootUpTime: Win32_OperatingSystem, written as ISO 8601 with offset (ToString('o')).
      - ClusterName: MSCluster_Cluster (root\MSCluster) when the cluster service is installed.

    A host that cannot be reached, or whose migration settings cannot be read, gives a row with
    ComputerName and Error only; the script carries on with the other hosts. A missing optional
    probe (Credential Guard, boot time, cluster) leaves that column empty and writes a warning.

    Output columns, in this order: ComputerName, VirtualMachineMigrationEnabled,
    VirtualMachineMigrationAuthenticationType, VirtualMachineMigrationPerformanceOption,
    UseAnyNetworkForMigration, MaximumVirtualMachineMigrations, CredentialGuardRunning,
    LastBootUpTime, ClusterName, Error. ComputerName is the name as given to this script: give
    the names as they are in Active Directory (dNSHostName or NetBIOS name) so hvaudit can match
    them.

    The script only reads. It does not enable WinRM, change TrustedHosts or touch any host
    setting; the only thing it writes is -OutFile.

.PARAMETER ComputerName
    Hyper-V hosts to read. Accepts pipeline input.

.PARAMETER ComputerListPath
    A text file with one host name per line; blank lines and lines starting with # are skipped.

.PARAMETER Credential
    Credential for the WinRM connections. Defaults to the current user.

.PARAMETER OutFile
    Where to write the inventory: a .csv (Export-Csv, UTF-8) or .json (an array) file. Without
    it, the rows are written to the pipeline.

.PARAMETER ThrottleLimit
    How many hosts to query at once (Invoke-Command -ThrottleLimit). Default 32.

.EXAMPLE
    .\Get-HvAuditInventory.ps1 -ComputerName hv01.contoso.com, hv02.contoso.com -OutFile hosts.csv

.EXAMPLE
    .\Get-HvAuditInventory.ps1 -ComputerListPath .\hyperv-hosts.txt -Credential (Get-Credential) -OutFile hosts.json

.EXAMPLE
    (Get-ADComputer -Filter 'servicePrincipalName -like "Microsoft Virtual System Migration Service/*"').DNSHostName |
        .\Get-HvAuditInventory.ps1 -OutFile hosts.csv

.OUTPUTS
    PSCustomObject, one per host, when -OutFile is not given.

.NOTES
    Needs: WinRM to each host, and on each host rights to read Hyper-V settings (Hyper-V
    Administrators or local Administrators). Works in Windows PowerShell 5.1 and PowerShell 7.
#>
[CmdletBinding(DefaultParameterSetName = 'ByName')]
param(
    [Parameter(Mandatory = $true, ParameterSetName = 'ByName', Position = 0,
        ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
    [Alias('DNSHostName')]
    [string[]] $ComputerName,

    [Parameter(Mandatory = $true, ParameterSetName = 'ByList')]
    [string] $ComputerListPath,

    [System.Management.Automation.PSCredential]
    [System.Management.Automation.Credential()]
    $Credential = [System.Management.Automation.PSCredential]::Empty,

    [string] $OutFile,

    [ValidateRange(1, 1024)]
    [int] $ThrottleLimit = 32
)

begin {
    $ErrorActionPreference = 'Stop'

    $format = $null
    if ($OutFile) {
        $format = [System.IO.Path]::GetExtension($OutFile).ToLowerInvariant()
        if ($format -ne '.csv' -and $format -ne '.json') {
            throw "-OutFile must end in .csv or .json: '$OutFile'"
        }
    }

    $columns = @(
        'ComputerName'
        'VirtualMachineMigrationEnabled'
        'VirtualMachineMigrationAuthenticationType'
        'VirtualMachineMigrationPerformanceOption'
        'UseAnyNetworkForMigration'
        'MaximumVirtualMachineMigrations'
        'CredentialGuardRunning'
        'LastBootUpTime'
        'ClusterName'
        'Error'
    )

    # Runs on each host. It only reads, and returns plain strings, booleans and numbers so that
    # nothing depends on Hyper-V module types surviving remoting's deserialisation.
    $probe = {
        $ErrorActionPreference = 'Stop'
        $out = @{}
        $problems = @()

        $vmHost = $null
        if (Get-Command -Name 'Get-VMHost' -ErrorAction SilentlyContinue) {
            try { $vmHost = Get-VMHost } catch { $problems += "Get-VMHost: $($_.Exception.Message)" }
        } else {
            $problems += 'Get-VMHost: the Hyper-V PowerShell module is not installed'
        }

        $wmi = $null
        try {
            $wmi = Get-CimInstance -Namespace 'root\virtualization\v2' `
                -ClassName 'Msvm_VirtualSystemMigrationServiceSettingData' | Select-Object -First 1
        } catch {
            $problems += "Msvm_VirtualSystemMigrationServiceSettingData: $($_.Exception.Message)"
        }

        if ($null -eq $vmHost -and $null -eq $wmi) {
            throw ("cannot read the Hyper-V migration settings: " + ($problems -join '; '))
        }

        $wmiAuth = $null
        if ($null -ne $wmi -and $null -ne $wmi.AuthenticationType) {
            switch ([int]$wmi.AuthenticationType) {
                0 { $wmiAuth = 'CredSSP' }
                1 { $wmiAuth = 'Kerberos' }
            }
        }

        if ($null -ne $vmHost) {
            $out.VirtualMachineMigrationEnabled = [bool]$vmHost.VirtualMachineMigrationEnabled
            $out.VirtualMachineMigrationAuthenticationType = [string]$vmHost.VirtualMachineMigrationAuthenticationType
            $out.VirtualMachineMigrationPerformanceOption = [string]$vmHost.VirtualMachineMigrationPerformanceOption
            $out.UseAnyNetworkForMigration = [bool]$vmHost.UseAnyNetworkForMigration
            $out.MaximumVirtualMachineMigrations = [int]$vmHost.MaximumVirtualMachineMigrations
            # Both read the same service settings: a difference means one of them is not to be trusted.
            if ($null -ne $wmi) {
                if ($wmiAuth -ne $out.VirtualMachineMigrationAuthenticationType) {
                    Write-Warning ("$env:COMPUTERNAME`: Get-VMHost says authentication " +
                        "$($out.VirtualMachineMigrationAuthenticationType), WMI says $wmiAuth")
                }
                if ([bool]$wmi.EnableVirtualSystemMigration -ne $out.VirtualMachineMigrationEnabled) {
                    Write-Warning ("$env:COMPUTERNAME`: Get-VMHost and WMI disagree on whether " +
                        "live migration is enabled")
                }
            }
        } else {
            Write-Warning "$env:COMPUTERNAME`: $($problems -join '; '); using WMI instead"
            $out.VirtualMachineMigrationEnabled = [bool]$wmi.EnableVirtualSystemMigration
            $out.VirtualMachineMigrationAuthenticationType = $wmiAuth
            if ($wmi.EnableSmbTransport) {
                $out.VirtualMachineMigrationPerformanceOption = 'SMB'
            } elseif ($wmi.EnableCompression) {
                $out.VirtualMachineMigrationPerformanceOption = 'Compression'
            } else {
                $out.VirtualMachineMigrationPerformanceOption = 'TCPIP'
            }
            $out.MaximumVirtualMachineMigrations = [int]$wmi.MaximumActiveVirtualSystemMigration
            # UseAnyNetworkForMigration is not in this class: left unknown.
        }

        try {
            # Absent before Windows Server 2016: Credential Guard is then not running.
            $deviceGuard = Get-CimInstance -Namespace 'root\Microsoft\Windows\DeviceGuard' `
                -ClassName 'Win32_DeviceGuard'
            $out.CredentialGuardRunning = (@($deviceGuard.SecurityServicesRunning) -contains 1)
        } catch {
            Write-Warning "$env:COMPUTERNAME`: Credential Guard state unknown: $($_.Exception.Message)"
        }

        try {
            $os = Get-CimInstance -ClassName 'Win32_OperatingSystem'
            $out.LastBootUpTime = $os.LastBootUpTime.ToString('o')
        } catch {
            Write-Warning "$env:COMPUTERNAME`: last boot time unknown: $($_.Exception.Message)"
        }

        if (Get-Service -Name 'ClusSvc' -ErrorAction SilentlyContinue) {
            try {
                $cluster = Get-CimInstance -Namespace 'root\MSCluster' -ClassName 'MSCluster_Cluster' |
                    Select-Object -First 1
                if ($null -ne $cluster) { $out.ClusterName = [string]$cluster.Name }
            } catch {
                Write-Warning "$env:COMPUTERNAME`: cluster name unknown: $($_.Exception.Message)"
            }
        }

        [pscustomobject]$out
    }

    function New-InventoryRow {
        param([string] $Name, $Data, [string] $ErrorMessage)
        $row = [ordered]@{}
        foreach ($column in $columns) { $row[$column] = $null }
        if ($null -ne $Data) {
            foreach ($column in $columns) {
                $property = $Data.PSObject.Properties[$column]
                if ($null -ne $property) { $row[$column] = $property.Value }
            }
        }
        $row.ComputerName = $Name
        if ($ErrorMessage) { $row.Error = $ErrorMessage }
        [pscustomobject]$row
    }

    # The host an error is about: remoting errors carry OriginInfo, connection failures name
    # the computer as their target.
    function Get-ErrorComputer {
        param($Record)
        if ($Record.PSObject.Properties['OriginInfo'] -and $Record.OriginInfo.PSComputerName) {
            return [string]$Record.OriginInfo.PSComputerName
        }
        if ($Record.TargetObject -is [string]) { return $Record.TargetObject }
        return $null
    }

    $names = New-Object System.Collections.Generic.List[string]
    $seen = New-Object 'System.Collections.Generic.HashSet[string]' ([System.StringComparer]::OrdinalIgnoreCase)
}

process {
    foreach ($name in $ComputerName) {
        if ($name -and $name.Trim() -and $seen.Add($name.Trim())) { $names.Add($name.Trim()) }
    }
}

end {
    if ($PSCmdlet.ParameterSetName -eq 'ByList') {
        foreach ($line in (Get-Content -LiteralPath $ComputerListPath)) {
            $name = $line.Trim()
            if ($name -and -not $name.StartsWith('#') -and $seen.Add($name)) { $names.Add($name) }
        }
    }
    if ($names.Count -eq 0) { throw 'No computer names given.' }

    $invoke = @{
        ComputerName  = $names.ToArray()
        ScriptBlock   = $probe
        ThrottleLimit = $ThrottleLimit
        ErrorAction   = 'SilentlyContinue'
        ErrorVariable = 'remoteErrors'
    }
    if ($Credential -ne [System.Management.Automation.PSCredential]::Empty) {
        $invoke.Credential = $Credential
    }
    $remoteErrors = @()
    $results = @(Invoke-Command @invoke)

    $resultByName = @{}
    foreach ($result in $results) { $resultByName[[string]$result.PSComputerName] = $result }
    $errorByName = @{}
    foreach ($record in $remoteErrors) {
        $name = Get-ErrorComputer $record
        if ($name -and -not $errorByName.ContainsKey($name)) {
            $errorByName[$name] = $record.Exception.Message
        } elseif (-not $name) {
            Write-Warning $record.Exception.Message
        }
    }

    $rows = foreach ($name in $names) {
        if ($resultByName.ContainsKey($name)) {
            New-InventoryRow -Name $name -Data $resultByName[$name]
        } elseif ($errorByName.ContainsKey($name)) {
            New-InventoryRow -Name $name -ErrorMessage $errorByName[$name]
        } else {
            New-InventoryRow -Name $name -ErrorMessage 'no result returned (see the warnings above)'
        }
    }
    $rows = @($rows)

    $failed = @($rows | Where-Object { $_.Error }).Count
    if ($failed -gt 0) {
        Write-Warning "$failed of $($rows.Count) host(s) could not be read; see the Error column."
    }

    if ($format -eq '.csv') {
        $rows | Export-Csv -LiteralPath $OutFile -NoTypeInformation -Encoding UTF8
        Write-Verbose "Wrote $($rows.Count) row(s) to $OutFile"
    } elseif ($format -eq '.json') {
        # -InputObject keeps a one-host inventory an array.
        ConvertTo-Json -InputObject $rows -Depth 3 | Set-Content -LiteralPath $OutFile -Encoding UTF8
        Write-Verbose "Wrote $($rows.Count) row(s) to $OutFile"
    } else {
        $rows
    }
}
